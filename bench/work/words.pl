# words.pl - an allocation-heavy perl workload for bench/: generates
# pseudo-random text, counts words in a hash, builds per-letter lists,
# sorts them and joins strings.  Prints a checksum.
use strict;
use warnings;

my $n = $ARGV[0] // 400000;
my @syl = qw(ka lo mi ne ru ta shi po ve za qu ix);
my ($seed, %count, %by_letter) = (12345);
my @words;
for my $i (1 .. $n) {
	$seed = ($seed * 1103515245 + 12345) % 2147483648;
	my $w = join '', map { $syl[($seed >> (3 * $_)) % 12] } 0 .. (1 + $seed % 4);
	push @words, $w;
	$count{$w}++;
}
for my $w (keys %count) {
	push @{ $by_letter{substr($w, 0, 1)} }, "$w:$count{$w}";
}
my $total = 0;
for my $l (sort keys %by_letter) {
	my @s = sort { length($a) <=> length($b) or $a cmp $b } @{ $by_letter{$l} };
	$total += length(join ',', @s);
}
my $text = join ' ', @words;
my @sentences = split /ka /, $text;
$total += scalar(@sentences) + length($text);
print "$total\n";
