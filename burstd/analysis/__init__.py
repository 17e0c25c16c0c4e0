"""Analysing one image file: sniffing and decoding it (reduced, grey), its EXIF, its hashes and focus grid."""
