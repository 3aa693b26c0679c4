"""Cek Tanah Pemkot: the public pages at /publik/ (no login). Residents, notaries and PPAT check whether land is the
city's, print the answer, report an occupation or request the use (sewa) of a parcel.

Safe by construction: every public view reads the register through ``public.selectors`` only, which can reach the
published fields and nothing else (outline, kelurahan; kode barang and certificate status where BPKAD publishes
them). No id of a private record leaves this room.
"""
