"""Data access: functions take a session and only flush; the caller owns the transaction."""
