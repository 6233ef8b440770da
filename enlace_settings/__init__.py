"""Settings shared by the back office and the portal: typed environment readers (:mod:`.env`)
and the settings both Django projects start from (:mod:`.base`)."""
