package dynamo

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/orders"
)

// Every item and index key of the table is built in this file: a new item
// kind, a changed key or a new index starts here, and the IAM write
// prefixes of the topology (dynamodb:LeadingKeys) are checked against
// PartitionPrefixes and SingleItemWrites (keys_test.go, and the call-graph
// access test in infra/stack).
//
// Key design (one table, string keys pk/sk; two overloaded indexes gsi1 and
// gsi2, all attributes projected):
//
//	pk                            sk                        item; index keys
//	EVENT#<id>                    META                      the event document, version;
//	                                                        gsi1 EVENTS / <startsAt RFC 3339>#<id>
//	EVENT#<id>                    VENUE#<nnn>               a piece of a large venue's gzipped sections (venue.go)
//	EVENT#<id>                    AVAIL#<section>           availability projection of a section
//	EVENT#<id>                    AVAIL_LEASE               who may rebuild the projections, until when
//	EVENT#<id>                    QUEUE                     the waiting room's queue state (inlet), version
//	EVENT#<id>                    RECONCILE                 the last reconciliation report
//	EVENT#<id>                    CANCELLATION              the cancellation saga's progress and its pass lease (cancel.go)
//	EVENT#<id>                    POSTPONEMENT              the last postponement's notices queued so far, and their pass lease
//	SEAT#<event>#<seat>           SEAT                      one reserved seat: state, orderId, version (own
//	                                                        partition: holds on different seats never share one)
//	HELDSEAT#<event>#<seat>       HELD                      marker of a HELD seat: seatId, orderId; written and
//	                                                        deleted in the transactions that hold and release or
//	                                                        sell the seat; gsi2 HELD#<event>#<shard> /
//	                                                        <expiresAt>#<seat> (the reconciler's held seats)
//	GA#<event>#<section>#<n>      GA                        one GA counter shard: capacity, available, held, sold
//	ORDER#<id>                    ORDER                     an order; gsi1 ACCOUNT#<account> / ORDER#<createdAt>#<id>;
//	                                                        gsi2 WORK#<event>#<shard> / <deadline>#<id> while open,
//	                                                        DONE#<event>#<shard> / <finishedAt>#<id> once terminal
//	ORDER#<id>                    TICKETS                   the order's ticket manifest (same transaction as the tickets)
//	LIMIT#<event>#<account>       LIMIT                     places the account holds or bought for the event; its
//	                                                        hold requests per rate window and the Idempotency-Key
//	                                                        records of its holds (holdrate.go)
//	ADMISSION#<jti>               USED                      a consumed admission token
//	IDEM#<account>#<key>          IDEM                      an Idempotency-Key and the order it created
//	PAYMENT#<provider>#<id>       PAYMENT                   a captured payment and what it is for
//	WEBHOOK#<provider>#<event>    EVENT                     a provider event, once processed: DONE (dedup)
//	REFUND#<event>#<shard>        <requestedAt>#<orderId>   an organizer refund, by time
//	TICKET#<id>                   TICKET                    one ticket (tickets.go has the attributes)
//	REVOKED#<event>               TICKET#<ticketId>         the event's revocation list
//	SCAN#<ticketId>#<nonce>       SCAN                      the answer given to one scan nonce (first put wins)
//	QCOUNT#<event>                COUNT                     the queue position counter (one ADD per assigner batch)
//	QPLACE#<event>#<account>      PLACE                     one fan's place (own partition: no hot key);
//	                                                        gsi1 QLOT#<event>#<n> / entrant (the draw's entrants)
//	                                                          or QLATE#<event>#<n> / joinedAt (waiting for a position);
//	                                                        gsi2 QADM#<event>#<n> / tokenExpiresAt (admitted, unused),
//	                                                          QDONE#<event> once used or abandoned
//	QSTATS#<event>#<n>            STATS                     admitted/used/abandoned counters
//	HEALTH#<event>#<start unix>   HEALTH                    one purchase-path health window
//	RATE#<name>#<subject>#<unix>  RATE                      one fixed rate-limit window
//	ORG#<org>                     STAFF#<subject>           one person's role in the organization (tenancy.Grant)
//	ORG#<org>                     AUDIT#<at>#<id>           one staff action (tenancy.Entry)
//	MAIL#<orderId>                <kind>                    one message cause: SENDING until leaseUntil, or SENT (mail.go)
//	PRESALE#<event>#<hash>        CODE                      one presale code: uses, used, hint (own partition:
//	                                                        fans redeeming different codes never share one);
//	                                                        gsi1 PRESALES#<event> / <createdAt>#<hash>
//	PRESALE#<event>#<hash>        USE#<account>             the account redeemed the code (asking again is free)
//	WAITLIST#<event>              META                      the waiting list: join counter, sweep version, offer
//	                                                        window, what the last sweep counted (waitlist.go)
//	WAITLIST#<event>              FAN#<account>             one fan's entry: seq, quantity, status, offer
//	DUE#<event>                   RECONCILE                 the event has work for the scheduled reconciler
//	                                                        since markedAt (reconcile.go); gsi2
//	                                                        DUEEVENTS / <event>: one query lists them all
//	TRANSFER#<id>                 TRANSFER                  one ticket transfer (transfers.go); gsi1
//	                                                        TRANSFERSTO#<recipient key> / <createdAt>#<id>;
//	                                                        gsi2 TRANSFERSFROM#<sender> / <createdAt>#<id>
//
// The event item also carries gsi2 ORGEVENTS#<org> / <startsAt>#<id>: an
// organization's events.
//
// Every id inside a key is escaped (esc): '#' becomes %23 and '%' %25, so
// no id can reach into the next part of its key.
//
// Sharding: the work and refund partitions spread an event's orders over
// workShards by order id, the place index partitions over placeShards by
// account, and the queue stats over statsShards, so that a sale's writes
// never concentrate on one partition (1,000 WCU per partition).

// Partition key prefixes. Each is a literal, as IAM's
// dynamodb:LeadingKeys conditions need (topology.TableAccess.WritePrefixes).
const (
	PrefixEvent         = "EVENT#"
	PrefixSeat          = "SEAT#"
	PrefixHeldSeat      = "HELDSEAT#"
	PrefixGAShard       = "GA#"
	PrefixOrder         = "ORDER#"
	PrefixLimit         = "LIMIT#"
	PrefixAdmission     = "ADMISSION#"
	PrefixIdempotency   = "IDEM#"
	PrefixPayment       = "PAYMENT#"
	PrefixWebhook       = "WEBHOOK#"
	PrefixRefund        = "REFUND#"
	PrefixTicket        = "TICKET#"
	PrefixRevoked       = "REVOKED#"
	PrefixScan          = "SCAN#"
	PrefixQueueCounter  = "QCOUNT#"
	PrefixPlace         = "QPLACE#"
	PrefixQueueStats    = "QSTATS#"
	PrefixHealth        = "HEALTH#"
	PrefixRateLimit     = "RATE#"
	PrefixOrg           = "ORG#"
	PrefixMail          = "MAIL#"
	PrefixPresale       = "PRESALE#"
	PrefixWaitlist      = "WAITLIST#"
	PrefixTransfer      = "TRANSFER#"
	PrefixDue           = "DUE#"
	prefixTransfersTo   = "TRANSFERSTO#"   // gsi1 only
	prefixTransfersFrom = "TRANSFERSFROM#" // gsi2 only
	prefixPresales      = "PRESALES#"      // gsi1 only
	prefixOrgEvents     = "ORGEVENTS#"     // gsi2 only
	dueEventsPK         = "DUEEVENTS"      // gsi2 only: every event with reconciler work
	prefixAccountOrders = "ACCOUNT#"       // gsi1 only
	prefixWork          = "WORK#"          // gsi2 only
	prefixDone          = "DONE#"          // gsi2 only
	prefixHeld          = "HELD#"          // gsi2 only
	prefixLottery       = "QLOT#"          // gsi1 only
	prefixLate          = "QLATE#"         // gsi1 only
	prefixAdmitted      = "QADM#"          // gsi2 only
	prefixPlaceDone     = "QDONE#"         // gsi2 only
	eventsPK            = "EVENTS"         // gsi1 only: every event
)

// PartitionPrefixes lists the prefix of every table partition key, the
// only values a WritePrefixes declaration may name.
func PartitionPrefixes() []string {
	return []string{
		PrefixEvent, PrefixSeat, PrefixHeldSeat, PrefixGAShard, PrefixOrder, PrefixLimit, PrefixAdmission, PrefixIdempotency,
		PrefixPayment, PrefixWebhook, PrefixRefund, PrefixTicket, PrefixRevoked, PrefixScan,
		PrefixQueueCounter, PrefixPlace, PrefixQueueStats, PrefixHealth, PrefixRateLimit, PrefixOrg, PrefixMail, PrefixPresale,
		PrefixWaitlist, PrefixTransfer, PrefixDue,
	}
}

// SingleItemWrites names, per store method, the partition prefixes it
// writes outside transactions (PutItem, UpdateItem, BatchWriteItem): the
// writes a WritePrefixes declaration can scope. A method absent from it
// writes only inside TransactWriteItems, or not at all. The access test in
// infra/stack holds each function's WritePrefixes to the methods it can
// reach, and keys_test.go holds this list to what the methods write.
func SingleItemWrites() map[string][]string {
	return map[string][]string{
		"(*CatalogStore).CreateEvent":            {PrefixSeat, PrefixGAShard, PrefixEvent},
		"(*CatalogStore).LeaseRefresh":           {PrefixEvent},
		"(*CatalogStore).EndRefresh":             {PrefixEvent},
		"(*CatalogStore).PutProjection":          {PrefixEvent},
		"(*CatalogStore).UpdateEvent":            {PrefixEvent},
		"(*OrderStore).SetStatus":                {PrefixOrder, PrefixDue},
		"(*OrderStore).Rehold":                   {PrefixDue},
		"(*OrderStore).BeginRefund":              {PrefixDue},
		"(*InventoryStore).CreateComp":           {PrefixDue},
		"(*ReconcileStore).MarkDue":              {PrefixDue},
		"(*InventoryStore).SetSeatState":         {PrefixSeat},
		"(*InventoryStore).CountHoldRequest":     {PrefixLimit},
		"(*OrderStore).SetTaskToken":             {PrefixOrder},
		"(*OrderStore).RecordDecline":            {PrefixOrder},
		"(*OrderStore).PutPayment":               {PrefixPayment},
		"(*OrderStore).MarkPaymentRefunded":      {PrefixPayment},
		"(*ReconcileStore).SaveReconcileReport":  {PrefixEvent},
		"(*ProviderEventStore).FinishEvent":      {PrefixWebhook},
		"(*TicketStore).Admit":                   {PrefixTicket},
		"(*TicketStore).RecordScan":              {PrefixScan},
		"(*WaitroomStore).CreateState":           {PrefixEvent},
		"(*WaitroomStore).SaveState":             {PrefixEvent},
		"(*WaitroomStore).PutNewPlace":           {PrefixPlace},
		"(*WaitroomStore).PutNewPlaces":          {PrefixPlace},
		"(*WaitroomStore).WritePlaces":           {PrefixPlace},
		"(*WaitroomStore).AddPositions":          {PrefixQueueCounter},
		"(*WaitroomStore).SetPositions":          {PrefixQueueCounter},
		"(*WaitroomStore).ClaimServed":           {PrefixPlace},
		"(*WaitroomStore).MarkUsed":              {PrefixPlace},
		"(*WaitroomStore).MarkAbandoned":         {PrefixPlace},
		"(*WaitroomStore).MarkAbandonedAll":      {PrefixPlace},
		"(*WaitroomStore).AddStats":              {PrefixQueueStats},
		"(*HealthStore).AddWindow":               {PrefixHealth},
		"(*RateLimitStore).Hit":                  {PrefixRateLimit},
		"(*TenancyStore).PutGrant":               {PrefixOrg},
		"(*TenancyStore).AppendAudit":            {PrefixOrg},
		"(*MailStore).ClaimMail":                 {PrefixMail},
		"(*MailStore).MailsSent":                 {PrefixMail},
		"(*MailStore).ReleaseMail":               {PrefixMail},
		"(*PresaleStore).PutCodes":               {PrefixPresale},
		"(*PresaleStore).Redeem":                 {PrefixPresale},
		"(*CancellationStore).StartCancellation": {PrefixEvent},
		"(*CancellationStore).LeaseCancellation": {PrefixEvent},
		"(*CancellationStore).SaveCancellation":  {PrefixEvent},
		"(*CancellationStore).LeasePostponement": {PrefixEvent},
		"(*CancellationStore).SavePostponement":  {PrefixEvent},
		"(*WaitlistStore).NextWaitlistSeq":       {PrefixWaitlist},
		"(*WaitlistStore).PutWaitlistEntry":      {PrefixWaitlist},
		"(*WaitlistStore).LeaveWaitlist":         {PrefixWaitlist},
		"(*WaitlistStore).SetWaitlistWindow":     {PrefixWaitlist},
		"(*WaitlistStore).ExpireWaitlistOffer":   {PrefixWaitlist},
		"(*WaitlistStore).UseWaitlistOffer":      {PrefixWaitlist},
		"(*WaitlistStore).SaveWaitlistCount":     {PrefixWaitlist},
	}
}

// The table's global secondary indexes (topology.Default's main table).
const (
	gsi1 = "gsi1" // events by start; an account's orders; queue places waiting
	gsi2 = "gsi2" // open orders by deadline (work index); held seats by expiry; admitted places by expiry
)

// Shard counts of sharded partitions and index partitions.
const (
	workShards  = 8
	placeShards = 8
	statsShards = 4
)

// Sort keys of single-kind partitions.
const (
	skMeta        = "META"
	skWaitlistFan = "FAN#"
	skAvailLease  = "AVAIL_LEASE"
	skQueue       = "QUEUE"
	skReconcile   = "RECONCILE"
	skCancel      = "CANCELLATION"
	skPostpone    = "POSTPONEMENT"
	skAvail       = "AVAIL#"
	skSeat        = "SEAT"
	skHeld        = "HELD"
	skGA          = "GA"
	skOrder       = "ORDER"
	skTickets     = "TICKETS"
	skLimit       = "LIMIT"
	skUsed        = "USED"
	skIdem        = "IDEM"
	skPayment     = "PAYMENT"
	skWebhook     = "EVENT"
	skTicket      = "TICKET"
	skScan        = "SCAN"
	skCount       = "COUNT"
	skPlace       = "PLACE"
	skStats       = "STATS"
	skHealth      = "HEALTH"
	skRate        = "RATE"
	skCode        = "CODE"
	skUse         = "USE#"
	skTransfer    = "TRANSFER"
	skDue         = "RECONCILE"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func key(pk, sk string) item { return item{"pk": s(pk), "sk": s(sk)} }

// esc makes an id safe inside a composite key: '#' separates a key's
// parts, so without it the account "a#b" with the Idempotency-Key "c" and
// the account "a" with the key "b#c" would share one item. '%' is escaped
// first, so two different ids never escape to the same text. Ids without
// either character (every UUID, every id the services generate) are
// unchanged.
func esc(id string) string { return keyEscaper.Replace(id) }

var (
	keyEscaper   = strings.NewReplacer("%", "%25", "#", "%23")
	keyUnescaper = strings.NewReplacer("%25", "%", "%23", "#")
)

func eventPK(id string) string           { return PrefixEvent + esc(id) }
func seatPK(eventID, seat string) string { return PrefixSeat + esc(eventID) + "#" + esc(seat) }
func gaShardPK(eventID, sec string, n int) string {
	return PrefixGAShard + esc(eventID) + "#" + esc(sec) + "#" + itoa(n)
}
func orderPK(id string) string               { return PrefixOrder + esc(id) }
func limitPK(eventID, account string) string { return PrefixLimit + esc(eventID) + "#" + esc(account) }
func admissionPK(jti string) string          { return PrefixAdmission + esc(jti) }
func idemPK(account, key string) string      { return PrefixIdempotency + esc(account) + "#" + esc(key) }
func paymentRecordPK(provider, id string) string {
	return PrefixPayment + esc(provider) + "#" + esc(id)
}
func webhookPK(provider, id string) string { return PrefixWebhook + esc(provider) + "#" + esc(id) }
func refundPK(eventID string, shard int) string {
	return fmt.Sprintf("%s%s#%d", PrefixRefund, esc(eventID), shard)
}
func ticketPK(id string) string            { return PrefixTicket + esc(id) }
func revokedPK(eventID string) string      { return PrefixRevoked + esc(eventID) }
func revokedSK(ticketID string) string     { return PrefixTicket + esc(ticketID) }
func scanPK(ticketID, nonce string) string { return PrefixScan + esc(ticketID) + "#" + esc(nonce) }
func queueCounterPK(eventID string) string { return PrefixQueueCounter + esc(eventID) }
func placePK(eventID, account string) string {
	return PrefixPlace + esc(eventID) + "#" + esc(account)
}
func statsPK(eventID string, n int) string {
	return PrefixQueueStats + esc(eventID) + "#" + strconv.Itoa(n)
}
func healthPK(eventID string, start int64) string {
	return PrefixHealth + esc(eventID) + "#" + strconv.FormatInt(start, 10)
}
func rateKey(name, subject string, window time.Time) item {
	return key(PrefixRateLimit+esc(name)+"#"+esc(subject)+"#"+strconv.FormatInt(window.Unix(), 10), skRate)
}

func presalePK(eventID, hash string) string { return PrefixPresale + esc(eventID) + "#" + esc(hash) }
func presaleCodeKey(eventID, hash string) item {
	return key(presalePK(eventID, hash), skCode)
}
func presaleUseKey(eventID, hash, account string) item {
	return key(presalePK(eventID, hash), skUse+esc(account))
}
func waitlistPK(eventID string) string    { return PrefixWaitlist + esc(eventID) }
func waitlistMetaKey(eventID string) item { return key(waitlistPK(eventID), skMeta) }
func waitlistFanKey(eventID, account string) item {
	return key(waitlistPK(eventID), skWaitlistFan+esc(account))
}
func transferKey(id string) item { return key(PrefixTransfer+esc(id), skTransfer) }
func dueKey(eventID string) item { return key(PrefixDue+esc(eventID), skDue) }
func transfersToPK(recipient string) string {
	return prefixTransfersTo + esc(recipient)
}
func transfersFromPK(account string) string      { return prefixTransfersFrom + esc(account) }
func presalesPK(eventID string) string           { return prefixPresales + esc(eventID) }
func eventKey(id string) item                    { return key(eventPK(id), skMeta) }
func projectionKey(eventID, section string) item { return key(eventPK(eventID), skAvail+esc(section)) }
func projectionSection(sk string) string         { return keyUnescaper.Replace(sk[len(skAvail):]) }
func leaseKey(eventID string) item               { return key(eventPK(eventID), skAvailLease) }
func queueStateKey(eventID string) item          { return key(eventPK(eventID), skQueue) }
func reconcileReportKey(eventID string) item     { return key(eventPK(eventID), skReconcile) }
func cancellationKey(eventID string) item        { return key(eventPK(eventID), skCancel) }
func postponementKey(eventID string) item        { return key(eventPK(eventID), skPostpone) }
func gaShardKey(eventID, sec string, n int) item { return key(gaShardPK(eventID, sec, n), skGA) }
func orderKey(id string) item                    { return key(orderPK(id), skOrder) }
func admissionKey(jti string) item               { return key(admissionPK(jti), skUsed) }
func idemKey(account, k string) item             { return key(idemPK(account, k), skIdem) }
func paymentKey(provider, id string) item        { return key(paymentRecordPK(provider, id), skPayment) }
func webhookKey(provider, id string) item        { return key(webhookPK(provider, id), skWebhook) }
func ticketKey(id string) item                   { return key(ticketPK(id), skTicket) }
func scanKey(ticketID, nonce string) item        { return key(scanPK(ticketID, nonce), skScan) }
func queueCounterKey(eventID string) item        { return key(queueCounterPK(eventID), skCount) }
func placeKey(eventID, account string) item      { return key(placePK(eventID, account), skPlace) }
func statsKey(eventID string, n int) item        { return key(statsPK(eventID, n), skStats) }
func healthKey(eventID string, start int64) item { return key(healthPK(eventID, start), skHealth) }
func revocationKey(eventID, ticketID string) item {
	return key(revokedPK(eventID), revokedSK(ticketID))
}
func refundMarkerKey(o orders.Order, at time.Time) item {
	return key(refundPK(o.EventID, workShard(o.ID)), at.UTC().Format(time.RFC3339Nano)+"#"+esc(o.ID))
}

// SeatKey is the key of a reserved seat's item. Tests that stage a
// fault (a seat freed or taken behind the services' back) use it.
func SeatKey(eventID, seat string) map[string]types.AttributeValue {
	return key(seatPK(eventID, seat), skSeat)
}

// GAShardKey is the key of a GA counter shard (for tests that stage drift
// in the counters).
func GAShardKey(eventID, section string, n int) map[string]types.AttributeValue {
	return gaShardKey(eventID, section, n)
}

// LimitKey is the key of an account's per-event limit item.
func LimitKey(eventID, account string) map[string]types.AttributeValue {
	return key(limitPK(eventID, account), skLimit)
}

// TicketManifestKey is the key of an order's ticket manifest.
func TicketManifestKey(orderID string) map[string]types.AttributeValue {
	return key(orderPK(orderID), skTickets)
}

// eventsByStart is the event document's gsi1 key: every event under one
// partition, sorted by start time.
func eventsByStart(startsAt time.Time, id string) (string, string) {
	return eventsPK, startsAt.Format(time.RFC3339) + "#" + esc(id)
}

func orgEventsPK(org string) string { return prefixOrgEvents + esc(org) }

func orgEventsByStart(org string, startsAt time.Time, id string) (string, string) {
	return orgEventsPK(org), startsAt.Format(time.RFC3339) + "#" + esc(id)
}

func orgPK(org string) string { return PrefixOrg + esc(org) }

const (
	skStaff = "STAFF#"
	skAudit = "AUDIT#"
)

// eventsFrom is the gsi1 sort-key bound for events starting at or after t.
func eventsFrom(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func accountOrdersPK(account string) string { return prefixAccountOrders + esc(account) }
func accountOrdersSK(o *orders.Order) string {
	return PrefixOrder + o.CreatedAt.Format(time.RFC3339Nano) + "#" + esc(o.ID)
}

func workShard(orderID string) int {
	h := 0
	for i := 0; i < len(orderID); i++ {
		h = h*31 + int(orderID[i])
	}
	if h < 0 {
		h = -h
	}
	return h % workShards
}

// WorkPK is the gsi2 partition of an event's open orders in shard i.
func WorkPK(eventID string, shard int) string {
	return fmt.Sprintf("%s%s#%d", prefixWork, esc(eventID), shard)
}

// donePK is the gsi2 partition of an event's finished orders in shard i.
func donePK(eventID string, shard int) string {
	return fmt.Sprintf("%s%s#%d", prefixDone, esc(eventID), shard)
}

func workPK(o orders.Order, status orders.Status) string {
	if status.Terminal() {
		return donePK(o.EventID, workShard(o.ID))
	}
	return WorkPK(o.EventID, workShard(o.ID))
}

// workSK orders by the time after which the reconciler should look.
func workSK(o orders.Order, status orders.Status, now time.Time) string {
	deadline := now
	switch status {
	case orders.PendingPayment:
		deadline = o.ExpiresAt
	case orders.Paid:
		deadline = now.Add(IssueDeadline)
	}
	return deadline.UTC().Format(time.RFC3339Nano) + "#" + esc(o.ID)
}

func workIndex(o orders.Order, status orders.Status, now time.Time) (string, string) {
	return workPK(o, status), workSK(o, status, now)
}

// heldMarker is the marker item of a seat HELD by o: its own partition
// (deleted by seat, without knowing the expiry), listed in gsi2 by expiry
// and spread over workShards by seat id, so a rush's holds never
// concentrate on one index partition. A marker item rather than index
// attributes on the seat itself: a marker is only ever put and deleted,
// which every DynamoDB emulator indexes correctly, where adding and
// removing a seat's index attributes by UpdateItem is not (minidyn keeps
// stale index entries).
func heldMarker(o *orders.Order, seat string) item {
	it := heldMarkerKey(o.EventID, seat)
	it["seatId"], it["orderId"] = s(seat), s(o.ID)
	it["gsi2pk"] = s(heldPK(o.EventID, workShard(seat)))
	it["gsi2sk"] = s(o.ExpiresAt.UTC().Format(time.RFC3339Nano) + "#" + seat)
	return it
}

func heldMarkerKey(eventID, seat string) item {
	return key(PrefixHeldSeat+eventID+"#"+seat, skHeld)
}

// heldMarkerDelete removes a seat's held marker in a transaction.
func heldMarkerDelete(table, eventID, seat string) types.TransactWriteItem {
	return types.TransactWriteItem{Delete: &types.Delete{TableName: &table, Key: heldMarkerKey(eventID, seat)}}
}

func heldPK(eventID string, shard int) string {
	return fmt.Sprintf("%s%s#%d", prefixHeld, eventID, shard)
}

// workBefore is the gsi2 sort-key bound of work due before t.
func workBefore(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) + "#" }

func placeShard(account string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(account))
	return int(h.Sum32() % placeShards)
}

// Place index partitions; the shard number is appended.
func lotteryShards(eventID string) string  { return prefixLottery + esc(eventID) + "#" }
func lateShards(eventID string) string     { return prefixLate + esc(eventID) + "#" }
func admittedShards(eventID string) string { return prefixAdmitted + esc(eventID) + "#" }
func placesDonePK(eventID string) string   { return prefixPlaceDone + esc(eventID) }
