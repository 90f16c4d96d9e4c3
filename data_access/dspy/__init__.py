"""DSPy behind the workbench's chat seam: the language model DSPy calls is the workbench's."""
