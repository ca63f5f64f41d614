"""Views: the text of log, show and status, and how it is rendered."""
