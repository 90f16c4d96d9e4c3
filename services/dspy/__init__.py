"""DSPy Optimizer: a Training Sheet as a DSPy dataset, optimization runs as jobs, results as template versions."""
