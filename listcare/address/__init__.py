"""Address checks: pure syntax (:mod:`.syntax`), curated lists (:mod:`.lists`) and DNS
(:mod:`.dns`, imported only when DNS is used); :func:`.validate.validate` combines them."""
