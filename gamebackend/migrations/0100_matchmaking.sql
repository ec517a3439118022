-- Matchmaking: tickets, matches, and the function that forms matches atomically.

CREATE TABLE mm_matches (
    match_id     uuid PRIMARY KEY,
    mode         text    NOT NULL,
    region       text    NOT NULL,
    players      uuid[]  NOT NULL,
    tickets      uuid[]  NOT NULL,
    mmrs         integer[] NOT NULL,
    skill_spread integer NOT NULL CHECK (skill_spread >= 0),
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX mm_matches_recent ON mm_matches (created_at);

CREATE TABLE mm_tickets (
    ticket_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    player_id  uuid    NOT NULL REFERENCES players (player_id),
    mode       text    NOT NULL,
    mmr        integer NOT NULL,
    pings      jsonb   NOT NULL,          -- region -> ms, as the client sent them
    regions    text[]  NOT NULL,          -- the regions within the ping limit
    best_ping  integer NOT NULL,
    status     text    NOT NULL DEFAULT 'searching'
               CHECK (status IN ('searching', 'matched', 'cancelled', 'expired')),
    match_id   uuid REFERENCES mm_matches (match_id),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    ended_at   timestamptz,
    CONSTRAINT mm_tickets_match_iff_matched CHECK ((status = 'matched') = (match_id IS NOT NULL))
);
-- One search at a time per player.
CREATE UNIQUE INDEX mm_tickets_one_search ON mm_tickets (player_id) WHERE status = 'searching';
CREATE INDEX mm_tickets_searching ON mm_tickets (mode, mmr) WHERE status = 'searching';
CREATE INDEX mm_tickets_by_age ON mm_tickets (created_at) WHERE status = 'searching';
CREATE INDEX mm_tickets_matched ON mm_tickets (ended_at) WHERE status = 'matched';

-- No ticket is ever in two matches: the primary key says so, whatever the matchmakers do.
CREATE TABLE mm_match_tickets (
    ticket_id uuid PRIMARY KEY REFERENCES mm_tickets (ticket_id),
    match_id  uuid NOT NULL REFERENCES mm_matches (match_id)
);

-- Form the proposed matches of one pool: p_tickets holds groups of p_size ticket ids, one
-- after the other. Every proposed ticket is locked first, all at once and in ticket_id order
-- (two matchmakers never deadlock); a group whose tickets are not all still searching is
-- skipped (another matchmaker took one, or it was cancelled or expired meanwhile).
CREATE FUNCTION gb_mm_form(p_mode text, p_region text, p_size int, p_tickets uuid[])
RETURNS TABLE (o_match_id uuid, o_players uuid[], o_tickets uuid[], o_mmrs integer[],
               o_spread integer, o_created timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    v_group uuid[]; v_groups int := coalesce(array_length(p_tickets, 1), 0) / p_size;
BEGIN
    PERFORM 1 FROM mm_tickets WHERE ticket_id = ANY (p_tickets) ORDER BY ticket_id FOR UPDATE;
    FOR g IN 0 .. v_groups - 1 LOOP
        v_group := p_tickets[g * p_size + 1 : (g + 1) * p_size];
        SELECT array_agg(t.player_id ORDER BY t.mmr, t.ticket_id),
               array_agg(t.ticket_id ORDER BY t.mmr, t.ticket_id),
               array_agg(t.mmr ORDER BY t.mmr, t.ticket_id)
          INTO o_players, o_tickets, o_mmrs
          FROM mm_tickets t
         WHERE t.ticket_id = ANY (v_group) AND t.status = 'searching' AND t.mode = p_mode
           AND p_region = ANY (t.regions);
        CONTINUE WHEN coalesce(array_length(o_tickets, 1), 0) <> p_size;
        o_match_id := gen_random_uuid();
        o_spread := o_mmrs[p_size] - o_mmrs[1];
        o_created := clock_timestamp();
        INSERT INTO mm_matches (match_id, mode, region, players, tickets, mmrs, skill_spread,
                                created_at)
        VALUES (o_match_id, p_mode, p_region, o_players, o_tickets, o_mmrs, o_spread, o_created);
        INSERT INTO mm_match_tickets (ticket_id, match_id)
        SELECT unnest(o_tickets), o_match_id;
        UPDATE mm_tickets SET status = 'matched', match_id = o_match_id, ended_at = o_created
         WHERE ticket_id = ANY (o_tickets);
        RETURN NEXT;
    END LOOP;
END $$;
