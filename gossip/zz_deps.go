package gossip

import _ "github.com/hashicorp/memberlist"
