"""FairMQ-style devices driven through the OCC plugin protocol (see ``occ.fairmq.device``)."""
