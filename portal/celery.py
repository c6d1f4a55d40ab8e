"""The Celery application: configured from Django settings (CELERY_*), tasks found in the apps.

Start a worker with `celery -A portal worker` (add `-B` for the periodic sweep in development).

The embedded broker (no server) is kombu's filesystem transport with two repairs, used through
CELERY_BROKER_TRANSPORT (see settings): kombu writes a message file in place, so a worker polling the
folder can read it half-written, and a process killed mid-write leaves a truncated file behind; either
way the reader fails to decode it and the whole worker stops, at every start, until someone deletes
the file. Here a message is written under a name no reader looks at and renamed into place (rename is
atomic), and a file that cannot be decoded is dropped with an error in the log instead (its job stays
pending in the database and the provisioning sweep hands it over again).
"""

import contextlib
import logging
import os
import uuid
from time import monotonic

from celery import Celery
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

logger = logging.getLogger("portal.broker")


class SafeFilesystemChannel(filesystem.Channel):
    """kombu's filesystem channel with atomic writes and reads that survive a bad file."""

    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = final + ".part"  # not a ".<queue>.msg" name: no reader takes it
        with open(partial, "wb") as file:
            file.write(str_to_bytes(dumps(payload)))
        os.replace(partial, final)

    def _get(self, queue):
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            taken = os.path.join(self.processed_folder, name)  # same file system: an atomic rename
            try:
                os.replace(os.path.join(self.data_folder_in, name), taken)
            except OSError:  # another consumer took it first
                continue
            try:
                with open(taken, "rb") as file:
                    payload = file.read()
            finally:
                with contextlib.suppress(OSError):
                    os.remove(taken)
            try:
                return loads(bytes_to_str(payload))
            except ValueError as exc:
                logger.error("dropped an unreadable message %s from queue %s: %s", name, queue, exc)
        raise filesystem.Empty()


class SafeFilesystemTransport(filesystem.Transport):
    Channel = SafeFilesystemChannel

    @property
    def default_connection_params(self) -> dict:
        # kombu's default names a host, "localhost", which a folder-based broker never uses: with it,
        # every connection the broker's pool makes warns "No hostname was supplied".
        return {"port": self.default_port}


app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
