"""Read a collection of an OGC API – Features server with QGIS's own OAPIF provider, headless; print JSON.

Run in a child process by tests/interop/test_ogc_qgis.py (QGIS's application object, its threads and its GDAL
configuration stay out of the test process): ``python qgis_oapif.py <landing URL> <collection> <user> <password>``.
Prints {"valid", "log", "count", "fields", "features": [{"attributes": {...}, "wkt": ...}]}; ``log`` holds what
QGIS wrote to its message log (the reason of an invalid layer). QgsError.summary() is not called: on QGIS 3.22's
bindings the layer's and the provider's error() crash the process (SIGSEGV in QgsError::summary).
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import QgsApplication, QgsDataSourceUri, QgsVectorLayer  # noqa: E402 - after the platform is chosen


def read(url: str, collection: str, user: str, password: str) -> dict:
    log: list[str] = []
    QgsApplication.messageLog().messageReceived.connect(lambda message, tag, _level: log.append(f"{tag}: {message}"))
    uri = QgsDataSourceUri()
    uri.setParam("url", url)
    uri.setParam("typename", collection)
    uri.setParam("pagingEnabled", "true")
    uri.setParam("pageSize", "4")  # several pages: the next links are followed
    uri.setUsername(user)
    uri.setPassword(password)
    layer = QgsVectorLayer(uri.uri(False), collection, "OAPIF")
    QgsApplication.processEvents()  # messages logged by the provider's download thread arrive queued
    result = {"valid": layer.isValid(), "log": log, "count": -1, "fields": [], "features": []}
    if not layer.isValid():
        return result
    result["fields"] = [field.name() for field in layer.fields()]
    features = []
    for feature in layer.getFeatures():
        attributes = {name: feature[name] for name in result["fields"]}
        geometry = feature.geometry()
        features.append({
            "attributes": {k: (v if isinstance(v, (str, int, float)) or v is None else str(v))
                           for k, v in attributes.items()},
            "wkt": None if geometry.isNull() else geometry.asWkt(7),
        })  # fmt: skip
    result["features"] = features
    result["count"] = layer.featureCount()
    return result


def main() -> None:
    url, collection, user, password = sys.argv[1:5]
    app = QgsApplication([], False)
    app.initQgis()
    try:
        print(json.dumps(read(url, collection, user, password)))
    finally:
        app.exitQgis()


if __name__ == "__main__":
    main()
