"""Rules that a single change and a bulk import both apply, set-based, so that one write and ten
thousand are checked alike."""
