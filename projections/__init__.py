"""Read models kept in the same store as the event log (never imports Flask)."""
