"""Chat models: the seam (`chat`), its HTTP implementations, and the batch runner (`batch`)."""
