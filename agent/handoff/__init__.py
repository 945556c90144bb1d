"""Closing the loop after routing: the hand-off to the receiving team and its bounce-backs.

``bounce``   a receiving engineer sends an escalation back to support (validated, append-only)
"""
