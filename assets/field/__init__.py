"""Field inventory (inventarisasi) campaigns: campaigns, teams and their parcels, the package a team takes into the
field, the results synchronised from the phone (offline PWA) and their review into the register."""
