"""Studies: families of solves of one case that answer a question no single solve can."""
