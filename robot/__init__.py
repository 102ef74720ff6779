"""robocell runtime: the Robot interface, safety, wire protocol, nodes and launcher."""
