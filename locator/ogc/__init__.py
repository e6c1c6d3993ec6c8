"""OGC API – Features under /ogc: the offices and the district areas as standard GIS layers."""
