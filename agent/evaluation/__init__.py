"""Conversation tests: scripted customer conversations run through the real conversation
manager, each turn checked against what it should do (`switchboard test conversations`).

`suite` reads the YAML file, `matching` checks a turn, `databases` gives each run its own
database, and `conversations` runs them and counts pass@1 and pass^k.
"""
