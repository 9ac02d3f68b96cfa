"""minplan: allied critical-mineral investment and stockpile planning."""

__version__ = "0.1.0"
