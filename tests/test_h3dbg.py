from django.test import TestCase
from django.db import connection
class T(TestCase):
    def test_x(self):
        with connection.cursor() as c:
            c.execute("select name, sql from sqlite_master where type='trigger' and tbl_name='assets_landasset'"); 
            for r in c.fetchall(): print(r[0], (r[1] or '')[:300])
            c.execute("select * from geometry_columns where f_table_name='assets_landasset'"); print(c.fetchall())
            c.execute("select spatialite_version()"); print(c.fetchall())
