"""Work queues: what is waiting for each user (certificates stuck, parcels without location, imports to confirm,
loans overdue, contracts ending ...), shown on the home page and sent as a daily digest.

The rooms that own the work register its sources here (``registry.work_source``) in a ``work.py`` module of
their own, imported at start-up by ``AssetsConfig.ready``; this room knows none of them.
"""
