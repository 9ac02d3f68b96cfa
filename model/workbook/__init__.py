"""Reading and writing workbooks safely: the file checks, the raw reader, atomic output, plain tables."""
