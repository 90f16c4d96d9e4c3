"""The Example Store: governed few-shot examples, synced from Training Sheets through the
few-shot gate and retrieved by meaning with the gate enforced again at retrieval."""
