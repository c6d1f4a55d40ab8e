"""CSV import and export (see docs/csv-import.md).

- `reading`: what the file is (encoding, delimiter, header, rows numbered as a spreadsheet shows them);
- `columns`: the native columns, the names other PBX tools use for them, header matching;
- `base`: the loop every import shares, cells checked with the model fields' own validators;
- `users`, `numbers`, `organizations`: what rows mean, checked against data loaded once per import;
- `services`: an import's life (upload, check, confirm, commit, progress), also used by the self-service site;
- `export`: the same formats out, formula cells escaped.
"""
