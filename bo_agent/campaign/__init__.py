"""The running campaign: the agent loop, its persistent state and lease, queue mode and read-only
reports.
"""
