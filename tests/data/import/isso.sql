-- An Isso database (its own schema, as isso/db/ creates it), as SQL: the
-- tests build the SQLite file from it.
CREATE TABLE preferences (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256));
CREATE TABLE comments (
    tid REFERENCES threads(id), id INTEGER PRIMARY KEY, parent INTEGER,
    created FLOAT NOT NULL, modified FLOAT, mode INTEGER, remote_addr VARCHAR,
    text VARCHAR, author VARCHAR, email VARCHAR, website VARCHAR,
    likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0, voters BLOB NOT NULL,
    notification INTEGER DEFAULT 0);
INSERT INTO preferences VALUES ('session-key', '6b9e1a6d0a4c4e1f');
INSERT INTO threads VALUES (1, '/2022/08/12/ca-mau-2022-08-12/', 'Cà Mau: mùa nước nổi');
INSERT INTO threads VALUES (2, '/2022/09/01/lu-mien-trung.html', 'Lũ miền Trung');
-- 2022-08-12T08:15:00Z, and replies
INSERT INTO comments VALUES (1, 1, NULL, 1660292100.0, NULL, 1, '203.0.113.0',
    'Bài viết rất hay.

Cảm ơn tác giả đã đi tận nơi!', 'Nguyễn Thị Thùy Dương', 'duong@example.vn', NULL, 3, 0, X'', 0);
INSERT INTO comments VALUES (1, 2, 1, 1660297212.5, NULL, 1, '198.51.100.0',
    'Đồng ý, xem thêm *bài này*: https://example.org/ca-mau', 'Trần Văn Hùng', 'hung@example.vn', 'https://hung.example.vn', 0, 0, X'', 1);
INSERT INTO comments VALUES (1, 3, NULL, 1660302000.0, NULL, 2, '203.0.113.0',
    'Chờ duyệt: bài này có số liệu không?', 'Độc giả mới', 'moi@example.vn', NULL, 0, 0, X'', 0);
INSERT INTO comments VALUES (1, 4, 2, 1660305600.0, 1660306000.0, 4, '198.51.100.0',
    '', NULL, NULL, NULL, 0, 0, X'', 0);
INSERT INTO comments VALUES (1, 5, 4, 1660307400.0, NULL, 1, '203.0.113.0',
    'Trả lời: tôi cũng nghĩ vậy.', 'Nguyễn Thị Thùy Dương', 'duong@example.vn', NULL, 0, 0, X'', 0);
INSERT INTO comments VALUES (2, 6, NULL, 1662008400.0, NULL, 1, '203.0.113.0',
    'Huế mưa to từ đêm qua.', NULL, NULL, NULL, 0, 0, X'', 0);
