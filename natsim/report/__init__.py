"""Results: one schema for lab (observed), model (predicted) and field runs; tables, plots."""
