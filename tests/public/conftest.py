import pytest
from django.core.cache import cache

from tests.factories import load_reference, make_asset, point_inside, square

SECRET_NAME = "Tanah Rahasia Gudang Xq7"
SECRET_ADDRESS = "Jl. Rahasia Nomor 77Z"
SECRET_VALUE = "987654321"
HIDDEN_NAME = "Tanah Tersembunyi Kp9"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()  # rate limits and challenges live in the cache
    yield
    cache.clear()


@pytest.fixture
def land(db):
    """Two published parcels in one kelurahan, one hidden parcel (its own exclusion) in another."""
    from assets.public.models import PublicExclusion

    load_reference()
    lon, lat = point_inside("64.71.01.1001")
    shown = make_asset(
        geom=square(lon, lat), nama_barang=SECRET_NAME, alamat=SECRET_ADDRESS, nilai_perolehan=SECRET_VALUE
    )
    second = make_asset(geom=square(lon + 0.002, lat), kode_barang="1.3.1.01.01.02.001")
    hlon, hlat = point_inside("64.71.02.1002")
    hidden = make_asset(geom=square(hlon, hlat), nama_barang=HIDDEN_NAME)
    PublicExclusion.objects.create(asset=hidden, reason="Tanah rumah dinas")
    return {"shown": shown, "second": second, "hidden": hidden, "at": (lon, lat), "hidden_at": (hlon, hlat)}
