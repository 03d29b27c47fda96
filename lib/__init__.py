"""Code every app may use: pure Python and numpy, no Django, no app imported."""
