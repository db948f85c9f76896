//! GLPI simulator (being written).
