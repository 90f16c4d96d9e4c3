"""TRAIN: fine-tune on an export, evaluate beside the base model, register, and keep the lineage."""
