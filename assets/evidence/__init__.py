"""Evidence: documents and photos attached to assets, certificates and stage changes (checked from their bytes,
kept private, withdrawn but never deleted), the checklist of documents each asset should have, and the custody
of original certificates (storage places and an append-only loan log). docs/evidence.md."""
