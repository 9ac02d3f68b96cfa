"""Sweeps: the --vary grammar, the worker pool and the sweep workbook."""
