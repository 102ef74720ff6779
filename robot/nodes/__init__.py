"""Nodes: processes that talk over ZeroMQ (robot node, policy node)."""
