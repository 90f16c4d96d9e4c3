"""Browsing Unity Catalog: catalogs, schemas, tables with columns and tags, volumes."""
