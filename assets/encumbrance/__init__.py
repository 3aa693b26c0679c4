"""Encumbrances of the city's land: dispute and occupation cases, and pemanfaatan (leases, loans, partnerships)
with their payment schedules. Above evidence (documents), below maps and transfer."""
