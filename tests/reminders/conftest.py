"""The real-process fixture of the crash tests, for every reminder test module."""

from tests.reminders.test_crash_safety import processes  # noqa: F401
