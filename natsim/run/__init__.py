"""Running a scenario: in the lab (:mod:`.lab`), in the model (:mod:`.predict`, :mod:`.sweep`), and
comparing the two (:mod:`.compare`). The layer above the lab, the model engine and the kinds."""
