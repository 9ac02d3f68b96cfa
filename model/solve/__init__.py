"""Solving: the HiGHS adapter, the solve with duals, EVPI and VSS, extraction into a Solution."""
