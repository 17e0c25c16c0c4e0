"""XMP sidecars: what burstd owns in one and the one place that reads and writes them.

Pure: `xmp` (what burstd owns, the plan of an edit), `packet` (byte-exact packet edits), `policy`
(what to do with one sidecar). I/O: `verify` (the bytes as exiv2, darktable's reader, sees them) and
`files` (the only module that reads or writes sidecar files; `write_sidecar` is the one way to write).
"""
