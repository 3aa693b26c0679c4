"""Static files under hashed names in production (whitenoise's compressed manifest storage), tolerant of one thing.

Vendored minified scripts (Leaflet, OpenLayers) end with a ``//# sourceMappingURL=…`` comment naming a source map
that Sipanah does not ship (ol.js.map alone is several MB). Django's manifest storage rewrites that comment to the
map's hashed name and fails collectstatic when the map is missing. Here such a comment is left as it is: browsers
ask for a source map only while the developer tools are open (and get a 404). Every other reference (CSS ``url()``,
``@import``, JS module imports) must still resolve, so a missing image or stylesheet still fails collectstatic.
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    def url_converter(self, name, hashed_files, template=None):
        convert = super().url_converter(name, hashed_files, template)

        def converter(matchobj):
            if "sourceMappingURL" not in matchobj.group("matched"):
                return convert(matchobj)
            try:
                return convert(matchobj)
            except ValueError:  # the source map is not shipped: keep the comment as written
                return matchobj.group("matched")

        return converter
