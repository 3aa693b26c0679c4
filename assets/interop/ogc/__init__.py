"""OGC API – Features at /ogc/: parameters, collections, views and the OpenAPI definition."""
