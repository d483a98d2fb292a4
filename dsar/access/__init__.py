"""Staff roles and what each may do: used by every part, so it is no web package."""
