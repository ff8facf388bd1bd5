"""Stage 5, the command line: argument validation at the boundary and one function per command."""
