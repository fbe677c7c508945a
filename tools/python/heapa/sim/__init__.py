"""heapa-sim: a synthetic RLVR loop that compares prompt samplers (see main.py)."""
