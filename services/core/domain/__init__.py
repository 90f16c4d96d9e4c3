"""Domain records: frozen dataclasses passed between layers."""
