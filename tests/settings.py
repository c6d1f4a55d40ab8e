"""Test settings: the portal's own settings with test-only keys, made before they are read.

Every test session gets a run directory of its own. The SQLite test database is a file there
(not in memory) so that a real Celery worker process started by a test sees the same data; the
filesystem broker, the beat schedule and the queue name are per session too, so that two test
runs on one machine (or one broker, e.g. Redis in CI) never take each other's messages. A worker
started by a test inherits PORTAL_TEST_RUN_DIR and with it the same paths and queue.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-used-anywhere-else")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "test-field-key")
# The sandbox simulators listen on loopback over plain http.
os.environ.setdefault("PBX_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
os.environ.setdefault("PBX_ALLOW_PLAIN_HTTP", "true")
os.environ.setdefault("WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")  # the tests' receivers
os.environ.setdefault("WEBHOOK_ALLOW_PLAIN_HTTP", "true")
# The test client and the live test server speak plain http.
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "false")
# Two-factor sign-in is exercised by its own tests (they turn it on).
os.environ.setdefault("PORTAL_REQUIRE_2FA", "false")
# Workers started by tests run the beat: no connection test of their own (a test's simulator counts
# its calls and injects faults by number); the test of the periodic check sets it itself.
os.environ.setdefault("PLATFORM_CHECK_INTERVAL_MINUTES", "0")

if not os.environ.get("PORTAL_TEST_RUN_DIR"):
    _run_dir = tempfile.mkdtemp(prefix="portal-tests-")
    os.environ["PORTAL_TEST_RUN_DIR"] = _run_dir
    os.environ["CELERY_FILESYSTEM_BROKER_DIR"] = str(Path(_run_dir) / "broker")
    os.environ["CELERY_TASK_DEFAULT_QUEUE"] = f"portal-tests-{Path(_run_dir).name.rsplit('-', 1)[-1]}"
    os.environ["CELERY_BEAT_SCHEDULE_FILENAME"] = str(Path(_run_dir) / "celerybeat-schedule")
    atexit.register(shutil.rmtree, _run_dir, ignore_errors=True)
TEST_RUN_DIR = Path(os.environ["PORTAL_TEST_RUN_DIR"])
# A commit's progress travels through a file cache shared with a worker started by a test.
os.environ.setdefault("IMPORT_PROGRESS_CACHE_URL", f"filecache://{TEST_RUN_DIR / 'import-progress'}")

from portal.settings import *  # noqa: E402, F403

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(TEST_RUN_DIR / "test.sqlite3")}  # noqa: F405

# Hashing passwords slowly is a production virtue and a test-suite vice.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
