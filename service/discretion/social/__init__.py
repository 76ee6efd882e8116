"""A group's agreement where its members' posts are quoted: the social web's native quote controls, from decisions."""
